//! Fuzz target: see `fuzz/src/archive_pipeline.rs` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scrub_fuzz::archive_pipeline::check(data));
