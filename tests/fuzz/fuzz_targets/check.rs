//! Any bytes given to `bsdx check` produce a report, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let release = bsdx::model::release::catalog().get("14.4").expect("known release");
    let report = bsdx::check::check_one(std::path::Path::new("fuzz"), data, release);
    // Rendering escapes ELF strings; it must not panic either.
    let _ = serde_json::to_string(&report);
});
