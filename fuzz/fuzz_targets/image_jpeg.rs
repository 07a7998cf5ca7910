//! Bytes behind a JPEG SOI marker: the JPEG reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Some(v) = common::with_magic(data, &[0xFF, 0xD8, 0xFF]) {
        common::exercise(&v);
    }
});
