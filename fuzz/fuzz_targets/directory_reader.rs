//! Fuzz target: see `fuzz/src/directory_reader.rs` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scrub_fuzz::directory_reader::check(data));
