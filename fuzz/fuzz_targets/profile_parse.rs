//! Arbitrary text as a profile: parsing and the semantic checks must report problems, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(profile) = resiscan::profile::parse(text) {
        let _ = resiscan::config::problems(&profile, std::path::Path::new("/nonexistent"));
    }
});
