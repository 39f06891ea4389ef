//! Fuzz target: see `fuzz/src/rules.rs` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scrub_fuzz::rules::check(data));
