//! `scrub --rules rules/noop.toml` must be the identity on every fixture,
//! whatever the thread count and chunk size. Small chunk sizes force COPY
//! rows, escapes, multi-byte characters and the `\.` terminator across chunk
//! boundaries.

use crate::support::{DUMP_FIXTURES, Scrub, assert_same_bytes, fixture, read, rules};

const JOBS: &[&str] = &["1", "2", "4"];
/// `None` is the default chunk size.
const CHUNK_SIZES: &[Option<&str>] = &[Some("3"), Some("7"), Some("64"), Some("4096"), None];

fn assert_identity_matrix(name: &str) {
    let path = fixture(name);
    let expected = read(&path);
    for jobs in JOBS {
        for chunk in CHUNK_SIZES {
            let mut scrub = Scrub::new().rules(&rules("noop.toml")).arg(&path).args(["-j", jobs]);
            if let Some(chunk) = chunk {
                scrub = scrub.args(["--chunk-size", chunk]);
            }
            let what = format!("{name} with -j {jobs} --chunk-size {}", chunk.unwrap_or("default"));
            assert_same_bytes(&expected, &scrub.run().success(), &what);
        }
    }
}

#[test]
fn identity_pii_dump_for_all_jobs_and_chunk_sizes() {
    assert_identity_matrix("pii.dump.sql");
}

#[test]
fn identity_awkward_dump_for_all_jobs_and_chunk_sizes() {
    assert_identity_matrix("awkward.dump.sql");
}

#[test]
fn identity_awkward_rootload_dump_for_all_jobs_and_chunk_sizes() {
    assert_identity_matrix("awkward.rootload.dump.sql");
}

#[test]
fn identity_awkward_bytea_escape_dump_for_all_jobs_and_chunk_sizes() {
    assert_identity_matrix("awkward.bytea-escape.dump.sql");
}

#[test]
fn identity_from_stdin_with_and_without_dash() {
    for name in DUMP_FIXTURES {
        let expected = read(&fixture(name));
        let implicit = Scrub::new().rules(&rules("noop.toml")).stdin(expected.clone()).run();
        assert_same_bytes(&expected, &implicit.success(), &format!("{name} on stdin"));
        let dash = Scrub::new()
            .rules(&rules("noop.toml"))
            .arg("-")
            .args(["--chunk-size", "7", "-j", "2"])
            .stdin(expected.clone())
            .run();
        assert_same_bytes(&expected, &dash.success(), &format!("{name} on stdin as `-`"));
    }
}

#[test]
fn identity_with_output_file() {
    let dir = crate::support::tempdir();
    for name in DUMP_FIXTURES {
        let expected = read(&fixture(name));
        let out = dir.path().join(name);
        let stdout = Scrub::new().rules(&rules("noop.toml")).arg(fixture(name)).arg("-o").arg(&out).run().success();
        assert!(stdout.is_empty(), "{name}: -o given, yet {} bytes on stdout", stdout.len());
        assert_same_bytes(&expected, &read(&out), &format!("{name} written with -o"));
    }
}

/// An empty input is not a dump, but it is not malformed COPY data either:
/// passing it through unchanged (or failing cleanly) are both acceptable;
/// panicking or inventing output is not.
#[test]
fn empty_input_does_not_panic_or_invent_output() {
    let run = Scrub::new().rules(&rules("noop.toml")).stdin(Vec::new()).run();
    run.assert_no_panic();
    if run.status.success() {
        assert!(run.stdout.is_empty(), "empty input gave {} bytes of output", run.stdout.len());
    }
}

/// Without `--rules` every value is copied unchanged (with a warning).
#[test]
fn identity_without_rules_file() {
    for name in DUMP_FIXTURES {
        let expected = read(&fixture(name));
        let run = Scrub::new().arg(fixture(name)).run();
        assert_same_bytes(&expected, &run.success(), &format!("{name} without --rules"));
    }
}

/// A dump converted to CRLF line endings (it still restores with psql) must
/// come out unchanged, CRs included.
#[test]
fn identity_crlf_dumps() {
    for name in ["pii.dump.sql", "awkward.dump.sql"] {
        let crlf = crate::support::to_crlf(&read(&fixture(name)));
        for extra in [&[][..], &["-j", "2", "--chunk-size", "3"][..], &["-j", "4", "--chunk-size", "64"][..]] {
            let out = Scrub::new().rules(&rules("noop.toml")).args(extra).stdin(crlf.clone()).run().success();
            assert_same_bytes(&crlf, &out, &format!("CRLF {name} with {extra:?}"));
        }
    }
}
