//! Arbitrary bytes as a scanner file: probing and decoding must return a value or an error,
//! never panic, hang or allocate beyond the pixel limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

/// Small enough that a fuzzed header cannot make the decoder allocate much.
const MAX_PIXELS: u64 = 4_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(pages) = resiscan::image::probe(data, MAX_PIXELS) else {
        return;
    };
    let bytes: Arc<[u8]> = data.into();
    for index in 0..pages.len().min(4) {
        let _ = resiscan::image::decode_page(&bytes, index, MAX_PIXELS);
    }
});
