//! Integration tests for the `scrub` binary: one test executable
//! (`autotests = false` in Cargo.toml) with a module per concern.
//!
//! * `identity`: the no-op rules reproduce every fixture byte for byte, for
//!   any `-j` and `--chunk-size`.
//! * `determinism`: keyed output depends only on the key and the input.
//! * `roundtrip`: scrubbed dumps restore into PostgreSQL with
//!   `ON_ERROR_STOP=1` and hold what the rules promise (needs a server; see
//!   `pg`).
//! * `errors`: malformed dumps, bad rules, missing keys and closed pipes fail
//!   cleanly.
//! * `compression`: compressed input is detected, compressed output decodes
//!   to the plain output.
//! * `archives`: every pg_dump archive fixture (pg_dump 15 to 18; custom,
//!   directory, tar; gzip, lz4, zstd, none) in and out of every format: the
//!   same `pg_restore` script without rules, restores that hold the rules with
//!   them, pipes, truncated archives, dropped data and large objects.
//! * `transforms`: the transform catalogue on a PII-heavy database built from
//!   `fixtures/people.sql`: valid, consistent, leak-free values that keep every
//!   PK, UNIQUE and FK constraint.
//!
//! * `scan`: the rules scaffold `scrub scan` writes passes `scrub check`,
//!   and the dump it produces verifies clean and restores (TOML, CSV, --names).
//! * `bench_kit`: `bench/gen.sh` builds its database and dump, and the
//!   benchmark rules scrub it into a dump that restores.
//! * `subset`: subsetting (issue 5) against an SQL oracle: scenarios from
//!   `fixtures/subset/` with rules from `rules/subset/`, scrubbed, restored,
//!   and compared row by row with the rows the spec says must be kept,
//!   computed in SQL on the original database.
//!
//! Fixtures come from `fixtures/generate.sh`; see `fixtures/README.md`.
//!
//! The binary under test is the one cargo builds for this target;
//! `SCRUB_TEST_BIN=/path/to/scrub` runs the suite against another build.
//! Database tests need a PostgreSQL server (`PGHOST`/`PGPORT`/`PGUSER`); without
//! one they are skipped, unless `CI` is set, which makes them fail.

#[macro_use]
mod pg;

mod archives;
mod bad_inputs;
mod bench_kit;
mod compare;
mod compression;
mod determinism;
mod errors;
mod faults;
mod fuzz_regressions;
mod identity;
mod limits;
mod roundtrip;
mod scan;
mod security;
mod subset;
mod support;
mod transforms;
