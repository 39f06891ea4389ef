//! Fuzz target: see `fuzz/src/sql_lexer.rs` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scrub_fuzz::sql_lexer::check(data));
