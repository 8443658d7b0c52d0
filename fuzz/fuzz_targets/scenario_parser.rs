//! The scenario parser must never panic: any UTF-8 text is a scenario or a list of errors.
//! Run: `cargo +nightly fuzz run scenario_parser -- -max_total_time=180`, seeded with
//! `scenarios/examples/*.toml` (see docs/scenarios.md, "Fuzzing").
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    // A base folder with no files: relative CDF or trace paths resolve to nothing.
    let _ = scenarios::spec::parse_str("fuzz.toml", text, Path::new("/nonexistent-fuzz-base"));
});
