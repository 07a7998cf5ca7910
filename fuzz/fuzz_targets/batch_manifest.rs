//! Arbitrary bytes as `batch.yaml`: an error with a line number or a manifest, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = resiscan::intake::BatchManifest::parse(data);
});
