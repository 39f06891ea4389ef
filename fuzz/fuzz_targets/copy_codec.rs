//! Fuzz target: see `fuzz/src/copy_codec.rs` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scrub_fuzz::copy_codec::check(data));
