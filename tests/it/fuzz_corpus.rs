//! The fuzzers' seed corpus (`fuzz/corpus`, written by `examples/make_fuzz_corpus.rs`:
//! truncated, bit-flipped and lying TIFF/PNG/JPEG headers, broken profiles and batch.yaml
//! files) runs in every test run, not only under `cargo fuzz`: each seed is read the way the
//! pipeline reads it and must give a result or an error, never a panic, and what the reader
//! accepts must be self-consistent. The findings fuzzing made are regression tests beside
//! the code they fixed; this keeps every seed a regression test too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAX_PIXELS: u64 = 4_000_000;

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "{}: only {} seeds",
        dir.display(),
        files.len()
    );
    files
}

#[test]
fn every_image_seed_is_read_or_refused_never_a_panic() {
    let (mut read, mut refused) = (0, 0);
    for target in ["image_intake", "image_tiff", "image_png", "image_jpeg"] {
        for path in seeds(target) {
            let bytes: Arc<[u8]> = std::fs::read(&path).unwrap().into();
            let outcome = std::panic::catch_unwind(|| {
                let Ok(pages) = resiscan::image::probe(&bytes, MAX_PIXELS) else {
                    return false;
                };
                for (i, probed) in pages.iter().enumerate().take(4) {
                    if let Ok(page) = resiscan::image::decode_page(&bytes, i, MAX_PIXELS) {
                        assert_eq!(&page.info, probed, "page {i}");
                        assert_eq!(
                            page.gray.pixels.len() as u64,
                            u64::from(probed.width) * u64::from(probed.height),
                            "page {i}"
                        );
                    }
                }
                assert!(resiscan::image::decode_page(&bytes, pages.len(), MAX_PIXELS).is_err());
                true
            });
            match outcome {
                Ok(true) => read += 1,
                Ok(false) => refused += 1,
                Err(_) => panic!("{} panicked", path.display()),
            }
        }
    }
    // The corpus holds good files beside damaged ones: both outcomes must occur.
    assert!(read > 20 && refused > 20, "{read} read, {refused} refused");
}

/// On a thread with the 8 MiB of a main thread, where `ingest` and `profile check` parse
/// these files: below the parser's depth limit, the debug build's deserializer needs more
/// than a test thread's 2 MiB.
#[test]
fn every_profile_and_batch_yaml_seed_parses_or_names_its_problem() {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            for path in seeds("profile_parse") {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                if let Ok(profile) = resiscan::profile::parse(&text) {
                    let _ = resiscan::config::problems(&profile, Path::new("/nonexistent"));
                }
            }
            let mut parsed = 0;
            for path in seeds("batch_manifest") {
                if resiscan::intake::BatchManifest::parse(&std::fs::read(&path).unwrap()).is_ok() {
                    parsed += 1;
                }
            }
            assert!(parsed > 0, "not one batch.yaml seed parsed");
        })
        .unwrap()
        .join()
        .unwrap();
}
