//! Fuzz target: see `fuzz/src/tar_reader.rs` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scrub_fuzz::tar_reader::check(data));
