//! Bytes behind a PNG signature: the PNG reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Some(v) = common::with_magic(data, b"\x89PNG\r\n\x1a\n") {
        common::exercise(&v);
    }
});
