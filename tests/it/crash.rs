//! Crash safety (issue #6): `kill -9` at any moment, then the same command again, gives the
//! same store as an uninterrupted run — no half files, no duplicates, no lost document, and
//! `verify` accepts it, both right after the kill and after the re-run.

use crate::testenv;

use std::path::Path;
use std::time::Instant;

use testenv::{PRIVATE_LETTER, TestEnv, enforcement_letter, render_letter, repo_path};

/// Every file in the store that a person or the DMS sees (not the lock, demo key or work area),
/// as store-relative paths.
fn visible_files(store: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![store.to_path_buf()];
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
            } else {
                let rel = p
                    .strip_prefix(store)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                // The chain is the store's history: a killed run and its re-run add a
                // run-start link an uninterrupted run does not have; `verify` checks it.
                if !rel.starts_with("index.sqlite") && !rel.starts_with("_chain/") {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    out
}

fn ingest_cmd(env: &TestEnv, batch: &Path, store: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("resiscan"));
    c.arg("ingest")
        .arg(batch)
        .arg("--profile")
        .arg(repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(store)
        .arg("-q")
        .current_dir(env.dir.path());
    c
}

#[test]
fn killed_at_random_moments_a_rerun_gives_the_same_store() {
    let env = TestEnv::new();
    let batch = env.mkdir("nacht");
    for (i, az) in ["VB-2026-00101", "VB-2026-00102", "VB-2026-00103"]
        .iter()
        .enumerate()
    {
        render_letter(
            &batch.join(format!("{:04}.png", i + 1)),
            &enforcement_letter(az),
            &[],
        );
    }
    render_letter(&batch.join("0004.png"), PRIVATE_LETTER, &[]);

    // The reference: one uninterrupted run.
    let reference = env.path("reference");
    let started = Instant::now();
    let status = ingest_cmd(&env, &batch, &reference).status().unwrap();
    let full = started.elapsed();
    assert_eq!(status.code(), Some(3));
    let want = visible_files(&reference);
    assert_eq!(
        want.iter().filter(|f| f.ends_with(".pdf")).count(),
        4,
        "{want:?}"
    );

    // Kill points spread over the run, from the very start to near the end; a fixed seed keeps
    // the test reproducible, the spread still hits every stage over the points.
    // RESISCAN_CRASH_ROUNDS runs more kill points than CI's four (the README quotes a long run).
    let rounds: usize = std::env::var("RESISCAN_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4);
    let mut seed: u64 = 0x5eed_1234;
    for round in 0..rounds {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let fraction = (seed % 1000) as f64 / 1000.0;
        let delay = full.mul_f64(0.05 + 0.9 * fraction);
        let store = env.path(&format!("store-{round}"));
        let mut child = ingest_cmd(&env, &batch, &store).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        // Before anything is repaired, the store a kill left is one `verify` accepts: what is
        // committed verifies by its own notes, the rest is reported as pending.
        let left = visible_files(&store);
        if !left.is_empty() {
            let (code, text) = env.verify_trusting_demo(&store);
            assert_eq!(
                code,
                Some(0),
                "round {round}: verify right after the kill at {delay:?}:\n{text}"
            );
            let finished = left.iter().any(|f| f.ends_with("transfer-note.yaml"))
                && !left.iter().any(|f| f.ends_with("in-progress.json"));
            assert!(
                finished || text.contains("PENDING"),
                "round {round}: an unfinished batch must be reported as pending:\n{text}"
            );
        }

        let status = ingest_cmd(&env, &batch, &store).status().unwrap();
        assert_eq!(
            status.code(),
            Some(3),
            "round {round} (killed after {delay:?})"
        );
        let got = visible_files(&store);
        assert_eq!(got, want, "round {round}: killed after {delay:?}");
        assert!(
            !got.iter().any(|f| f.contains(".tmp")),
            "round {round}: temp files left: {got:?}"
        );
        let (code, text) = env.verify_trusting_demo(&store);
        assert_eq!(
            code,
            Some(0),
            "round {round}: verify after kill at {delay:?}:\n{text}"
        );
    }
}
