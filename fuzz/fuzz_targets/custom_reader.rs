//! Fuzz target: see `fuzz/src/custom_reader.rs` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scrub_fuzz::custom_reader::check(data));
