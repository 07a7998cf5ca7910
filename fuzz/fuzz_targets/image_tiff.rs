//! Bytes behind a TIFF header (II or MM, chosen by the first byte as given): the TIFF reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let magic: &[u8] = if data.first() == Some(&b'M') {
        b"MM\0*"
    } else {
        b"II*\0"
    };
    if let Some(v) = common::with_magic(data, magic) {
        common::exercise(&v);
    }
});
