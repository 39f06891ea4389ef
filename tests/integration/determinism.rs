//! Keyed transforms are deterministic: the output depends on the input, the
//! rules and the key, and on nothing else (not the run, not `-j`, not the
//! chunk size).

use crate::support::{OTHER_SECRET, SECRET, Scrub, assert_same_bytes, fixture, read, rules, tempdir};

fn scrub_pii(secret: &str, extra: &[&str]) -> Vec<u8> {
    Scrub::new().secret(secret).rules(&rules("pii.toml")).arg(fixture("pii.dump.sql")).args(extra).run().success()
}

#[test]
fn pii_output_is_identical_across_runs_jobs_and_chunk_sizes() {
    let reference = scrub_pii(SECRET, &[]);
    assert_ne!(reference, read(&fixture("pii.dump.sql")), "pii rules changed nothing");
    let variants: &[&[&str]] = &[
        &[],
        &["-j", "1"],
        &["-j", "2", "--chunk-size", "3"],
        &["-j", "4", "--chunk-size", "7"],
        &["-j", "2", "--chunk-size", "64"],
        &["-j", "4", "--chunk-size", "4096"],
    ];
    for extra in variants {
        let what = format!("pii with rules/pii.toml and {extra:?}");
        assert_same_bytes(&reference, &scrub_pii(SECRET, extra), &what);
    }
}

#[test]
fn pii_output_from_stdin_equals_output_from_file() {
    let reference = scrub_pii(SECRET, &[]);
    let from_stdin =
        Scrub::new().secret(SECRET).rules(&rules("pii.toml")).stdin(read(&fixture("pii.dump.sql"))).run().success();
    assert_same_bytes(&reference, &from_stdin, "pii from stdin");
}

#[test]
fn different_secret_gives_different_output() {
    let a = scrub_pii(SECRET, &[]);
    let b = scrub_pii(OTHER_SECRET, &[]);
    assert_ne!(a, b, "changing SCRUB_SECRET did not change the output");
    // Both outputs share every byte outside the keyed columns, so they have
    // the same line structure.
    let lines = |v: &[u8]| v.iter().filter(|&&c| c == b'\n').count();
    assert_eq!(lines(&a), lines(&b), "different keys gave a different number of lines");
    // Every e-mail address must change with the key.
    let original = read(&fixture("pii.dump.sql"));
    let email = "juergen.rossi1@example-corp.de";
    assert!(contains(&original, email.as_bytes()), "fixture lost {email}");
    for (key, out) in [(SECRET, &a), (OTHER_SECRET, &b)] {
        assert!(!contains(out, email.as_bytes()), "{email} survived scrubbing with key {key}");
    }
}

#[test]
fn secret_file_is_equivalent_to_env_secret() {
    let dir = tempdir();
    let via_env = scrub_pii(SECRET, &[]);
    // The README: a trailing newline in the key file is ignored.
    for (name, content) in [("key", SECRET.to_string()), ("key-nl", format!("{SECRET}\n"))] {
        let key_file = dir.path().join(name);
        std::fs::write(&key_file, content).expect("write key file");
        let via_file = Scrub::new()
            .rules(&rules("pii.toml"))
            .arg("--secret-file")
            .arg(&key_file)
            .arg(fixture("pii.dump.sql"))
            .run()
            .success();
        assert_same_bytes(&via_env, &via_file, &format!("--secret-file {name} vs SCRUB_SECRET with the same key"));
    }
}

/// Rewritten rows keep the block's line endings: scrubbing a CRLF dump gives
/// the CRLF version of scrubbing the LF dump.
#[test]
fn crlf_input_gives_crlf_output() {
    let lf = scrub_pii(SECRET, &[]);
    let crlf_in = crate::support::to_crlf(&read(&fixture("pii.dump.sql")));
    for extra in [&[][..], &["-j", "4", "--chunk-size", "7"][..]] {
        let crlf_out =
            Scrub::new().secret(SECRET).rules(&rules("pii.toml")).args(extra).stdin(crlf_in.clone()).run().success();
        assert_same_bytes(&crate::support::to_crlf(&lf), &crlf_out, &format!("pii as CRLF with {extra:?}"));
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
