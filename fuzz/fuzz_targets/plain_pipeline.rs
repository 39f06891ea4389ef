//! Fuzz target: see `fuzz/src/plain_pipeline.rs` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scrub_fuzz::plain_pipeline::check(data));
