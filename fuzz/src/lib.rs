//! The checks behind scrub's fuzz targets, one module per target. Each `check(data)` panics on
//! a finding. They are plain functions over bytes so that the integration tests can replay the
//! committed inputs (`fuzz/regressions/<target>/`, `fuzz/seeds/<target>/`) without libFuzzer:
//! `tests/integration/fuzz_regressions.rs` includes this file with `#[path]`.
//!
//! Only `scrub`, `std` and `tempfile` may be used here (the integration tests have nothing else).

pub mod archive_pipeline;
pub mod copy_codec;
pub mod custom_reader;
pub mod directory_reader;
pub mod plain_pipeline;
pub mod rules;
pub mod sql_lexer;
pub mod tar_reader;

use std::io::{self, Read};

/// Decompressed bytes read from one stream are capped here, so a tiny compressed input that
/// expands to gigabytes costs time, not memory.
pub const READ_LIMIT: u64 = 8 << 20;

/// Reads at most [`READ_LIMIT`] bytes of `r`; errors are returned, never panics.
pub fn read_capped(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(READ_LIMIT).read_to_end(&mut out)?;
    Ok(out)
}

/// The message of a library error must say something: an empty message is useless to a user.
pub fn check_message(msg: &str) {
    assert!(!msg.trim().is_empty(), "an error with an empty message");
}

/// The names of the targets, as directories under `fuzz/seeds` and `fuzz/regressions`, with
/// their checks.
/// A fuzz target: its name and the function libFuzzer calls with each input.
pub type Target = (&'static str, fn(&[u8]));

pub const TARGETS: &[Target] = &[
    ("copy_codec", copy_codec::check),
    ("custom_reader", custom_reader::check),
    ("directory_reader", directory_reader::check),
    ("plain_pipeline", plain_pipeline::check),
    ("rules", rules::check),
    ("sql_lexer", sql_lexer::check),
    ("tar_reader", tar_reader::check),
];
