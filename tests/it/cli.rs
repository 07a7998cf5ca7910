//! Integration tests: the real binary on temporary batches and stores.

use crate::testenv;

use testenv::{TestEnv, png_header_only};

/// Runs `profile check` on `profile`, which must fail (exit 1); its stderr.
fn failed_profile_check(env: &TestEnv, profile: &std::path::Path) -> String {
    let out = env
        .cmd()
        .args(["profile", "check"])
        .arg(profile)
        .assert()
        .code(1);
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

#[test]
fn usage_error_exits_2() {
    let env = TestEnv::new();
    env.cmd().args(["ingest"]).assert().code(2);
    env.cmd().args(["frobnicate"]).assert().code(2);
}

#[test]
fn profile_check_accepts_the_shipped_demo_profile() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args(["profile", "check"])
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("vollstreckung"), "{text}");
    assert!(text.contains("demo identity"), "{text}");
}

#[test]
fn profile_check_lists_every_mistake_with_its_line() {
    let env = TestEnv::new();
    let p = env.write(
        "bad.yaml",
        r#"name: bad
organisation: "Stadt"
protection: {integrity: normal}
signing:
  certificate: keys/missing.pem
  key: keys/missing.pk8
efiles:
  - id: a
    match: {all: [x]}
    fields:
      az: 'AZ (\d+'
    require: [kz]
    path: "A/{nummer}"
"#,
    );
    let err = failed_profile_check(&env, &p);
    for expect in [
        "line 5",
        "certificate",
        "line 6",
        "line 11",
        "bad regex",
        "line 12",
        "'kz'",
        "line 13",
        "{nummer}",
    ] {
        assert!(err.contains(expect), "missing {expect:?} in:\n{err}");
    }
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn profile_check_reports_an_unknown_key_with_line_and_column() {
    let env = TestEnv::new();
    let p = env.write(
        "typo.yaml",
        "name: t\norganisation: o\nprotection: {integrity: normal}\nsigning: {demo: true}\nscan:\n  min_dpl: 300\n",
    );
    let err = failed_profile_check(&env, &p);
    assert!(err.contains("line 6"), "{err}");
    assert!(err.contains("min_dpl"), "{err}");
}

#[test]
fn profile_check_lists_typos_types_and_meaning_problems_in_one_run() {
    let env = TestEnv::new();
    let p = env.write(
        "mixed.yaml",
        "\u{feff}name: t\r\nversoin: 3\r\norganisation: o\r\nprotection: {integrity: normal}\r\nsigning: {demo: true}\r\nscan: {min_dpi: 300.0, blank_page: drop}\r\nqa: {sample_percent: 150}\r\nefiles:\r\n  - id: a\r\n    match: {all: [x]}\r\n    fields: {nr: 'Nr(?=\\d)(\\d+)'}\r\n    path: \"_batches/{nr}\"\r\n",
    );
    let err = failed_profile_check(&env, &p);
    for expect in [
        "5 problems",
        "line 2, column 1: unknown key 'versoin'",
        "did you mean 'version'",
        "line 6, column 24: unknown key 'blank_page'",
        "line 7, column 22: qa.sample_percent 150 is outside 0..100",
        "line 11, column 18: e-file 'a': field 'nr': bad regex: look-around",
        "line 12, column 11: e-file 'a': path starts with '_batches'",
    ] {
        assert!(err.contains(expect), "missing {expect:?} in:\n{err}");
    }
    let out = env
        .cmd()
        .args(["profile", "check"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    // A wrong type stops serde: every structural problem is still listed, and the writer is
    // told that the meaning comes next.
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("normal}", "Hoch}");
    std::fs::write(&p, text).unwrap();
    let err = failed_profile_check(&env, &p);
    for expect in [
        "line 2, column 1: unknown key 'versoin'",
        "line 4, column 25: protection.integrity 'Hoch' is not one of normal, hoch, sehr_hoch",
        "did you mean 'hoch'?",
        "line 7, column 22: qa.sample_percent 150",
        "checked once these are fixed",
    ] {
        assert!(err.contains(expect), "missing {expect:?} in:\n{err}");
    }
}

#[test]
fn profile_check_of_a_good_profile_shows_rules_paths_and_the_loaded_signer() {
    let env = TestEnv::new();
    env.cmd()
        .args(["keygen", "--subject", "CN=Scanstelle,O=Stadt", "--out"])
        .arg(env.path("profiles/keys"))
        .assert()
        .code(0);
    let good = "name: t\nversion: \"4\"\norganisation: o\nprotection: {integrity: hoch}\nsigning: {certificate: keys/cert.pem, key: keys/key.pk8.pem}\nocr: {languages: deu+eng}\nefiles:\n  - id: a\n    match: {all: [Rechnung]}\n    path: \"10 Kämmerei/{year}/\"\n";
    let p = env.write("profiles/p.yaml", good);
    // Run from elsewhere: key paths are relative to the profile's folder, not to the cwd.
    let out = env
        .cmd()
        .current_dir("/")
        .args(["profile", "check"])
        .arg(&p)
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for expect in [
        "profile t (version 4)",
        "visual QA sample 25%",
        "ocr: deu+eng",
        "signer: CN=Scanstelle, O=Stadt (EC P-256",
        "valid until",
        "10 Kämmerei/{year}/",
        "_Klaerung",
    ] {
        assert!(text.contains(expect), "missing {expect:?} in:\n{text}");
    }
    // The same profile with a key file that is no key: caught by check, not at night.
    env.write(
        "profiles/keys/key.pk8.pem",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let err = failed_profile_check(&env, &p);
    assert!(
        err.contains("line 5") && err.contains("signing identity unusable"),
        "{err}"
    );
}

#[test]
fn keygen_ec_p256_states_the_default_and_is_refused_beside_rsa_3072() {
    let env = TestEnv::new();
    env.cmd()
        .args(["keygen", "--ec-p256", "--subject", "CN=Scanstelle", "--out"])
        .arg(env.path("ec"))
        .assert()
        .code(0);
    // OpenSSL names the curve of the key written.
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-noout", "-text", "-in"])
        .arg(env.path("ec/key.pk8.pem"))
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("prime256v1"),
        "{text}"
    );
    let out = env
        .cmd()
        .args([
            "keygen",
            "--ec-p256",
            "--rsa-3072",
            "--subject",
            "CN=x",
            "--out",
        ])
        .arg(env.path("both"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("cannot be used with"), "{err}");
    assert!(!env.path("both").exists());
}

#[test]
fn a_bad_profile_stops_ingest_with_exit_1_and_writes_nothing() {
    let env = TestEnv::new();
    let batch = env.mkdir("batch");
    env.write("batch/1.png", "x");
    let p = env.write("p.yaml", "name: x\n");
    let store = env.path("store");
    env.cmd()
        .args(["ingest"])
        .arg(&batch)
        .arg("--profile")
        .arg(&p)
        .arg("--store")
        .arg(&store)
        .assert()
        .code(1);
    assert!(!store.exists(), "a failed start must not create the store");
}

#[test]
fn a_decompression_bomb_header_is_refused_quickly() {
    let env = TestEnv::new();
    let batch = env.mkdir("batch");
    std::fs::write(batch.join("bomb.png"), png_header_only(200_000, 200_000)).unwrap();
    let started = std::time::Instant::now();
    let (code, report) = env.ingest_demo(&batch);
    let elapsed = started.elapsed();
    assert_eq!(code, 3);
    let q = report.quarantine_reason("bomb");
    assert!(
        q.contains("200000x200000") || q.contains("decompression"),
        "{q}"
    );
    // Not a timing test of the product's speed: a bomb that got decoded would take minutes and
    // gigabytes; this bound only proves it was refused from the header.
    assert!(elapsed.as_secs() < 60, "{elapsed:?}");
}

#[test]
fn zero_byte_truncated_and_mislabelled_files_are_quarantined_with_reasons() {
    let env = TestEnv::new();
    let batch = env.mkdir("batch");
    std::fs::write(batch.join("empty.png"), b"").unwrap();
    std::fs::write(batch.join("letter.png"), b"Sehr geehrte Damen und Herren").unwrap();
    let mut truncated = png_header_only(2480, 3508);
    truncated.truncate(40);
    std::fs::write(batch.join("truncated.png"), truncated).unwrap();
    let (code, report) = env.ingest_demo(&batch);
    assert_eq!(code, 3);
    assert!(report.quarantine_reason("empty").contains("empty"));
    assert!(report.quarantine_reason("letter").contains("not an image"));
    let t = report.quarantine_reason("truncated");
    assert!(t.contains("truncated") || t.contains("corrupt"), "{t}");
    assert_eq!(report.quarantined(), 3);
}

#[test]
fn a_second_ingest_on_a_locked_store_exits_1_at_once() {
    let env = TestEnv::new();
    let batch = env.mkdir("batch");
    std::fs::write(batch.join("empty.png"), b"").unwrap();
    let store = env.path("store");
    std::fs::create_dir_all(store.join(".resiscan")).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(store.join(".resiscan/lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let out = env
        .cmd()
        .args(["ingest"])
        .arg(&batch)
        .arg("--profile")
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(&store)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("lock"), "{err}");
    drop(lock);
}

#[test]
fn dry_run_reports_what_would_happen_and_writes_nothing() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    testenv::render_letter(
        &batch.join("0001.png"),
        &testenv::enforcement_letter("VB-2026-04711"),
        &[],
    );
    std::fs::write(batch.join("0002.png"), b"").unwrap();
    let store = env.path("store");
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(&store)
        .args(["--dry-run", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["batches"][0]["filed"], 1, "{summary}");
    assert_eq!(summary["batches"][0]["quarantined"], 1, "{summary}");
    assert!(!store.exists(), "a dry run must not create the store");
}

#[test]
fn quiet_prints_nothing_but_json_on_stdout() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    std::fs::write(batch.join("broken.png"), b"\x89PNG\r\n").unwrap();
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(env.path("store"))
        .args(["-q", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        out.stderr.is_empty(),
        "stderr under -q: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["exit"], 3);
}

fn ingest_json(
    env: &TestEnv,
    args: &[&std::ffi::OsStr],
) -> (Option<i32>, serde_json::Value, String) {
    let out = env
        .cmd()
        .arg("ingest")
        .args(args)
        .arg("--profile")
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(env.path("store"))
        .arg("--json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}\n{stderr}", out.stdout));
    (out.status.code(), json, stderr)
}

#[test]
fn json_is_printed_for_failures_too_and_errors_name_their_cause_once() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    env.write("b/1.png", "");
    // A profile that cannot be read.
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .args(["--profile", "missing.yaml", "--store", "s", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["exit"], 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    assert!(json["error"].as_str().unwrap().contains("missing.yaml"));
    // --jobs 0 is a usage error: exit 2, still JSON for the script that asked for it.
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .args(["--store", "s", "--jobs", "0", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["exit"], 2);
    // explain on a file that is not there.
    let out = env
        .cmd()
        .args(["explain", "--json", "--profile"])
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .arg("nothing.pdf")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["error"].as_str().unwrap().contains("nothing.pdf"));
}

#[test]
fn unreadable_batches_fail_with_exit_1_named_once_and_create_no_store() {
    let env = TestEnv::new();
    let file = env.write("not-a-folder.tif", "x");
    let (code, json, stderr) =
        ingest_json(&env, &[env.path("missing").as_os_str(), file.as_os_str()]);
    assert_eq!(code, Some(1));
    assert_eq!(json["exit"], 1);
    let failed = json["failed_batches"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{json}");
    assert!(failed[0]["folder"].as_str().unwrap().ends_with("missing"));
    assert!(
        failed[1]["reason"]
            .as_str()
            .unwrap()
            .contains("not a folder")
    );
    assert_eq!(stderr.matches("not processed").count(), 2, "{stderr}");
    assert!(!env.path("store").exists());
}

#[test]
fn an_empty_batch_needs_a_person() {
    let env = TestEnv::new();
    let batch = env.mkdir("leer");
    let (code, json, _) = ingest_json(&env, &[batch.as_os_str()]);
    assert_eq!(code, Some(3), "{json}");
    let notices = json["batches"][0]["notices"].to_string();
    assert!(notices.contains("no documents"), "{notices}");
}

#[test]
fn batch_yaml_with_unknown_keys_or_an_odd_time_does_not_stop_the_batch() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    env.write("b/0001.png", "");
    env.write(
        "b/batch.yaml",
        "id: nacht-1\noperator: ps-1\npriority: high\nscanned_at: 24.11.2026 16:02\nanomalies: {\"0007\": \"Kopie\"}\nexpected: {documents: 2, pages: 5}\n",
    );
    let (code, json, _) = ingest_json(&env, &[batch.as_os_str()]);
    assert_eq!(code, Some(3), "{json}");
    let b = &json["batches"][0];
    assert_eq!(b["batch"], "nacht-1");
    let notices = b["notices"].to_string();
    for expect in [
        "line 3: unknown key 'priority' ignored",
        "not an RFC 3339 time",
        "anomaly for '0007'",
        "the station counted 2 documents, the batch folder holds 1",
        "the station counted 5 pages, resiscan read 0 (1 quarantined",
    ] {
        assert!(notices.contains(expect), "missing {expect:?} in {notices}");
    }
    // Broken YAML still stops that batch: its id and operator cannot be trusted.
    env.write("b/batch.yaml", "id: [nacht-1\n");
    let (code, json, _) = ingest_json(&env, &[batch.as_os_str()]);
    assert_eq!(code, Some(1));
    let reason = json["failed_batches"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("batch.yaml: line"), "{reason}");
}

#[test]
fn dry_run_with_out_leaves_the_report_there_and_nothing_in_the_store() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    env.write("b/0001.png", "");
    let out_dir = env.path("reports");
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(env.path("store"))
        .arg("--out")
        .arg(&out_dir)
        .arg("--dry-run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(!env.path("store").exists());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("b/report.json")).unwrap()).unwrap();
    assert_eq!(report["dry_run"], true);
    assert!(out_dir.join("b/quarantine.json").is_file());
}

#[test]
fn an_unreadable_page_file_or_folder_quarantines_only_its_document() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    env.write("b/locked.png", "x");
    env.write("b/doc/1.png", "x");
    env.write("b/closed/1.png", "x");
    env.write("b/empty.png", "");
    // Root reads files whatever their mode: run as nobody then, which needs setpriv.
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    let mut cmd = if root {
        if std::process::Command::new("setpriv")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("running as root without setpriv: chmod 000 cannot be tested");
            return;
        }
        std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for entry in [
            "",
            "b",
            "b/doc",
            "b/closed",
            "b/closed/1.png",
            "b/empty.png",
        ] {
            std::os::unix::fs::chown(env.path(entry), Some(65534), Some(65534)).unwrap();
        }
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("resiscan"));
        c
    } else {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("resiscan"))
    };
    for locked in ["b/locked.png", "b/doc/1.png", "b/closed"] {
        std::fs::set_permissions(env.path(locked), std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let out = cmd
        .current_dir(env.dir.path())
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(env.path("store"))
        .arg("--json")
        .output()
        .unwrap();
    for locked in ["b/locked.png", "b/doc/1.png", "b/closed"] {
        let _ = std::fs::set_permissions(env.path(locked), std::fs::Permissions::from_mode(0o755));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["batches"][0]["quarantined"], 4, "{summary}");
    let q: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.path("store/_batches/b/quarantine.json")).unwrap(),
    )
    .unwrap();
    let reason = |entry: &str| {
        q.as_array()
            .unwrap()
            .iter()
            .find(|d| d["entry"] == entry)
            .map(|d| d["reason"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{entry} not quarantined: {q}"))
    };
    assert!(reason("locked.png").contains("Permission denied"), "{q}");
    assert!(reason("doc").contains("1.png: cannot read"), "{q}");
    assert!(reason("closed").contains("cannot list the folder"), "{q}");
    assert!(reason("empty.png").contains("empty"), "{q}");
}

#[test]
fn an_out_path_that_is_a_file_fails_before_any_work() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    env.write("b/1.png", "");
    let not_a_folder = env.write("out", "x");
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(testenv::repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(env.path("store"))
        .arg("--out")
        .arg(&not_a_folder)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["error"].as_str().unwrap().contains("out"), "{json}");
    assert!(
        !env.path("store").exists(),
        "nothing filed without its --out copy"
    );
}

#[test]
fn explain_tries_a_file_plan_whose_signing_keys_are_not_on_this_machine() {
    let env = TestEnv::new();
    let letter = env.write(
        "brief.txt",
        "Vollstreckungsbehörde\nAktenzeichen: VB-2026-00417\nAntrag auf Ratenzahlung",
    );
    // The shipped treasury profile names keys that only the production host has.
    let out = env
        .cmd()
        .args(["explain", "--profile"])
        .arg(testenv::repo_path("profiles/stadtkasse-vollstreckung.yaml"))
        .arg(&letter)
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("vollstreckung"), "{text}");
    assert!(text.contains("VB-2026-00417"), "{text}");
    // profile check still insists on them.
    env.cmd()
        .args(["profile", "check"])
        .arg(testenv::repo_path("profiles/stadtkasse-vollstreckung.yaml"))
        .assert()
        .code(1);
}

#[test]
fn verify_on_a_missing_path_or_an_empty_folder_exits_1_and_says_why() {
    let env = TestEnv::new();
    env.mkdir("leer");
    let out = env
        .cmd()
        .args(["verify", "fehlt.pdf", "leer", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = json["items"].as_array().unwrap();
    assert_eq!(items[0]["kind"], "unknown");
    assert_eq!(items[0]["problems"][0], "does not exist");
    assert_eq!(items[1]["kind"], "unknown");
    assert!(
        items[1]["problems"][0]
            .as_str()
            .unwrap()
            .contains("empty folder")
    );
}
