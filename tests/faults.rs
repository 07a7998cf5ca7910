//! Faults of the night (issue #6): a store that runs full mid-batch ends the run with exit 1
//! and a clear message, leaves no half file, and the same command finishes the job once there
//! is room again.

mod testenv;

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
    let batch = env.mkdir("voll");
    for i in 1..=5 {
        render_letter(
            &batch.join(format!("{i:04}.png")),
            &enforcement_letter(&format!("VB-2026-0070{i}")),
            &[],
        );
    }
    let store = env.mkdir("store");
    if !mount_tmpfs(&store, "400k") {
        eprintln!("cannot mount a tmpfs here (needs root); full-disk test skipped");
        return;
    }
    let _unmount = Unmount(&store);
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the store failed"), "{err}");
    assert!(
        err.contains("No space left") || err.contains("full"),
        "{err}"
    );
    assert!(err.contains("run the same command again"), "{err}");

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
    let filed_before = walkdir(&store)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .count();
    let (code, text) = env.verify_trusting_demo(&store);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("PENDING"), "{text}");
    assert!(
        text.contains("run the same `resiscan ingest` again"),
        "{text}"
    );
    // Every PDF that made it into the store is complete: its note and meta are beside it.
    for pdf in walkdir(&store)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
    {
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
    let (code, report) = env.ingest(&batch, &repo_path("profiles/demo.yaml"), &store);
    assert_eq!(code, 0, "{}", report.stderr);
    let pdfs = walkdir(&store)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .count();
    assert_eq!(pdfs, 5);
    let (code, text) = env.verify_trusting_demo(&store);
    assert_eq!(code, Some(0), "{text}");
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
