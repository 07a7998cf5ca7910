//! Arbitrary bytes as a scanner file: probing and decoding must return a value or an error,
//! never panic, hang or allocate beyond the pixel limit. The format comes from the bytes, as
//! in the pipeline; `image_tiff`, `image_png` and `image_jpeg` pin it to one reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    common::exercise(data);
});
